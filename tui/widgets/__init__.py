"""Small reusable widgets of the linkwork app."""
