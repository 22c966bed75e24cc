" JSON Lines manifests (*.jsonl, *.ndjson) get the `jsonl` filetype
" (`setfiletype` leaves a filetype that Vim already detected alone).
autocmd BufRead,BufNewFile *.jsonl,*.ndjson setfiletype jsonl
