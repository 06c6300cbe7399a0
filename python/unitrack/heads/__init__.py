"""unitrack.heads"""
