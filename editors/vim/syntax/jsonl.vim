" JSON Lines: one JSON value per line; highlighted as JSON.
if exists('b:current_syntax')
  finish
endif
runtime! syntax/json.vim
let b:current_syntax = 'jsonl'
