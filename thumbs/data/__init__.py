"""The data set on disk: class folders, labels, sessions, the split, and `thumbs data`. Torch-free."""
