"""Person reports (missing and found) and their PFIF-style notes."""
