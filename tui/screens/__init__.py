"""The linkwork app's screens: thin views over the domain core."""
