-- JSON Lines manifests (*.jsonl, *.ndjson) get the `jsonl` filetype (Neovim 0.7
-- has none; newer versions do, and `setfiletype` leaves theirs alone).
vim.api.nvim_create_autocmd({ "BufRead", "BufNewFile" }, {
  pattern = { "*.jsonl", "*.ndjson" },
  command = "setfiletype jsonl",
})
