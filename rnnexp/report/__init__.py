"""What people read, generated from records: tables, figures, pages, statistics, finding cards."""
