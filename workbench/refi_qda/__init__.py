"""The REFI-QDA exchange format: its schema (``Project.xsd``) and the reader of a ``.qdpx``."""
