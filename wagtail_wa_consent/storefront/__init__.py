"""What shoppers see on the site: the opt-in block, the chat bubble and their site settings."""
