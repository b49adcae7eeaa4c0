"""Notifications service: tells volunteers what they need to know, once, through the channel they chose."""
