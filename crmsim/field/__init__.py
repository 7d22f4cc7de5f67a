"""Sales force effectiveness (FEATURES SFE): visit plans, SOP, routes, check-in."""
