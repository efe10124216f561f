"""The domain: organism specs, the catalogue, tasks and question sets, hints, prompts, transcripts
responses, reasoning formats, universes, and how a response is read and judged. No torch, no stage."""
