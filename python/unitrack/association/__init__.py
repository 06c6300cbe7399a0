"""unitrack.association"""
