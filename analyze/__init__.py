"""Mechanistic analysis: where does the organism's behaviour live? (BRIEF section 7)"""
