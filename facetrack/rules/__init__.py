"""Rules: results -> events and alerts (per camera, stateful, deterministic)."""
