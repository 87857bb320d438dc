"""Privacy: faces hidden in every picture facetrack produces (``conceal``), and the measure
that checks it (``detail``). The modes and what each stores: ``facetrack.config.privacy`` and
docs/privacy.md."""
