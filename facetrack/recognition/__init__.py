"""Recognition (opt-in): embeddings, the face database, and ``FaceRecognizer``."""
