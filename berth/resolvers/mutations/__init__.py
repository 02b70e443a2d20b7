"""One module per mutation (Saleor style): parse, call the domain, map errors."""
