"""Rasa custom actions: thin adapters between the Tracker and chatbot/."""
