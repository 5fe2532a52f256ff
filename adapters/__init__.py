"""Chat and terminal adapters: render Briefings, Alerts and command answers for one platform."""
