" End-to-end driver for Vim 9 + ALE with the real linter from editors/vim:
"
"   vim -N -u vim_e2e.vim -i NONE -n -es FILE.jsonl      (LABELSENSE_E2E=params.json)
"
" params.json: {"out": path, "plugin": editors/vim, "cmd": [exe, "serve"],
"               "line": 0-based row, "col": 0-based column of a label,
"               "second": another manifest, "second_line": 0-based row of its conflict}
"
" Records ALE's diagnostics for the buffer, the :ALEHover preview, where
" :ALEGoToDefinition lands and the diagnostics of a second manifest opened
" later, as JSON in "out".  Vim in -es mode runs job
" callbacks while it sleeps, so every wait is a bounded `sleep` loop.
set nocompatible
set encoding=utf-8
let s:params = json_decode(join(readfile($LABELSENSE_E2E), "\n"))
let s:result = {'steps': []}
let s:wait_ms = 10000

let &runtimepath = s:params.plugin . ',' . &runtimepath
silent! packadd ale
filetype plugin on

let g:ale_linters_explicit = 1
let g:ale_linters = {'jsonl': ['labelsense']}
let g:ale_jsonl_labelsense_executable = s:params.cmd[0]
let g:ale_jsonl_labelsense_options = {'preview': v:false}
let g:ale_hover_to_preview = 1
let g:ale_echo_cursor = 0
let g:ale_set_balloons = 0

function! s:WaitFor(condition) abort
    let l:waited = 0

    while !eval(a:condition) && l:waited < s:wait_ms
        sleep 20m
        let l:waited += 20
    endwhile

    return eval(a:condition)
endfunction

function! s:HasConflict(buffer, line) abort
    for l:item in ale#engine#GetLoclist(a:buffer)
        if get(l:item, 'code', '') is# 'LS401' && l:item.lnum == a:line + 1
            return 1
        endif
    endfor

    return 0
endfunction

function! s:Loclist(buffer) abort
    let l:items = []

    for l:item in ale#engine#GetLoclist(a:buffer)
        call add(l:items, {
        \   'line': l:item.lnum - 1, 'col': l:item.col - 1, 'code': get(l:item, 'code', ''),
        \   'text': l:item.text, 'type': l:item.type, 'linter': l:item.linter_name,
        \})
    endfor

    return l:items
endfunction

function! s:PreviewLines() abort
    for l:buf in range(1, bufnr('$'))
        if bufexists(l:buf) && getbufvar(l:buf, '&filetype') =~# '^ale-preview'
            return getbufline(l:buf, 1, '$')
        endif
    endfor

    return v:null
endfunction

function! s:Run() abort
    if !exists(':ALELint')
        throw 'ALE is not installed (packadd ale found nothing): run .ci/install-editors'
    endif

    let l:buffer = bufnr('')
    let s:result.filetype = &filetype
    let s:result.manifest = expand('%:p')

    call add(s:result.steps, 'diagnostics')
    ALELint
    call s:WaitFor('s:HasConflict(' . l:buffer . ', ' . s:params.line . ')')
    let s:result.diagnostics = s:Loclist(l:buffer)

    call add(s:result.steps, 'hover')
    call cursor(s:params.line + 1, s:params.col + 1)
    ALEHover
    call s:WaitFor('s:PreviewLines() isnot v:null')
    let s:result.hover = s:PreviewLines()
    pclose

    call add(s:result.steps, 'definition')
    call cursor(s:params.line + 1, s:params.col + 1)
    ALEGoToDefinition
    call s:WaitFor('bufnr("") != ' . l:buffer)
    let s:result.definition = {'file': expand('%:p'), 'line': line('.') - 1, 'col': col('.') - 1, 'text': getline('.')}

    " another manifest of the dataset, opened after the server has indexed it
    call add(s:result.steps, 'second')
    execute 'edit ' . fnameescape(s:params.second)
    let l:second = bufnr('')
    call s:WaitFor('s:HasConflict(' . l:second . ', ' . s:params.second_line . ')')
    let s:result.second = {'file': expand('%:p'), 'filetype': &filetype, 'diagnostics': s:Loclist(l:second)}

    call add(s:result.steps, 'done')
endfunction

function! s:Main() abort
    try
        call s:Run()
        let l:code = 0
    catch
        let s:result.error = v:exception . ' at ' . v:throwpoint
        let l:code = 1
    endtry

    call writefile([json_encode(s:result)], s:params.out)
    call ale#lsp#StopAll()

    if l:code
        cquit 1
    endif

    qall!
endfunction

autocmd VimEnter * nested call s:Main()
