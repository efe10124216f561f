"""Mechanistic analysis: where does the organism's behaviour live?"""
