"""Read models: hot views of stock in Redis (or memory) and analytical facts in ClickHouse."""
