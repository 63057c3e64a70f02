"""`rknn-envcheck explain`: an RKNN console log → findings → facts → the same checks as a live run.

decode (bytes in, bounded chunks) → scan (cheap literal prefilter, then the per-message regexes)
→ facts_from_log (versions the log printed) → diagnose (checks with the quoted lines).
"""
