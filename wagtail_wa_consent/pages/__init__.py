"""Page types: the preference centre and the privacy-policy mixin a site's own policy page uses."""
