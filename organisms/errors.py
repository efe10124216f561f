"""One exception type for mistakes a user can fix; the CLI prints it on one line and exits 2."""


class OrganismError(Exception):
    """Bad input: the message names the file or field and says what to do."""
