"""The rules of a letter's life, each written once: start a draft, approve it, lock the fixed
wording, check, build the letters to issue, verify the PDFs, compare two letters."""
