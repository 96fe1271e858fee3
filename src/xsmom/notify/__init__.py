"""Notifications: typed messages, channels (Discord, JSON webhook, console), outbox delivery."""
