"""The live carrier binds, their health, and receipt intake."""
