"""Health-and-work signposting assistant: the product, independent of Rasa."""
