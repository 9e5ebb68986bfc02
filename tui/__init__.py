"""The Textual app: screens, widgets and styles over the domain functions the CLI uses."""
