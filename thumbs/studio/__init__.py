"""`thumbs studio`: collect, train and try in one window (app), its panel, and the background jobs it runs."""
