"""The replica engine: store, engine tables, merge, retraction and redaction. The hub uses it too."""
