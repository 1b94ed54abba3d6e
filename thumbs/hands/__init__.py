"""The hand front end (live install, torch-free): find hands in a frame, then what a hand model is fed."""
