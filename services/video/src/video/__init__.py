"""Ovation video: celebration videos from Veo 3 (AIML API) or the offline card, within a spend budget."""
