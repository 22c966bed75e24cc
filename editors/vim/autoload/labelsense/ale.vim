" labelsense for ALE: shared pieces of the `labelsense` linter definitions in
" ale_linters/{jsonl,yaml,toml}/labelsense.vim (an LSP linter: `labelsense serve`).
"
" Options (g: or b:):
"   ale_jsonl_labelsense_executable  the labelsense program; default: `labelsense`
"                                    on $PATH, else <project root>/.venv/bin/labelsense
"   ale_jsonl_labelsense_options     settings sent as initializationOptions,
"                                    e.g. {'inlayHints': v:false, 'ignore': ['LS312']}
" (the yaml and toml linters read the same jsonl options).

call ale#Set('jsonl_labelsense_executable', 'labelsense')
call ale#Set('jsonl_labelsense_options', {})

let s:root_markers = ['labelsense.toml', 'pyproject.toml', '.git']

" The nearest directory above the buffer's file with a labelsense.toml,
" pyproject.toml or .git; the file's directory when there is none.
function! labelsense#ale#ProjectRoot(buffer) abort
    let l:file = fnamemodify(bufname(a:buffer), ':p')
    let l:dir = fnamemodify(l:file, ':h')

    while 1
        for l:marker in s:root_markers
            if filereadable(l:dir . '/' . l:marker) || isdirectory(l:dir . '/' . l:marker)
                return l:dir
            endif
        endfor

        let l:parent = fnamemodify(l:dir, ':h')

        if l:parent is# l:dir
            return fnamemodify(l:file, ':h')
        endif

        let l:dir = l:parent
    endwhile
endfunction

" Whether a labelsense.toml (or a pyproject.toml with [tool.labelsense]) is above the buffer's file.
function! labelsense#ale#InProject(buffer) abort
    let l:dir = fnamemodify(bufname(a:buffer), ':p:h')

    while 1
        if filereadable(l:dir . '/labelsense.toml')
            return 1
        endif

        let l:pyproject = l:dir . '/pyproject.toml'

        if filereadable(l:pyproject) && match(readfile(l:pyproject), '^\s*\[tool\.labelsense') >= 0
            return 1
        endif

        let l:parent = fnamemodify(l:dir, ':h')

        if l:parent is# l:dir
            return 0
        endif

        let l:dir = l:parent
    endwhile
endfunction

function! labelsense#ale#Executable(buffer) abort
    let l:configured = ale#Var(a:buffer, 'jsonl_labelsense_executable')

    if l:configured isnot# 'labelsense' || executable('labelsense')
        return l:configured
    endif

    let l:venv = labelsense#ale#ProjectRoot(a:buffer) . '/.venv/bin/labelsense'

    return executable(l:venv) ? l:venv : 'labelsense'
endfunction

" YAML (taxonomies) and TOML (labelsense.toml) buffers: only inside a labelsense
" project, so that the server does not start for every YAML file.
function! labelsense#ale#ProjectExecutable(buffer) abort
    let l:name = fnamemodify(bufname(a:buffer), ':t')

    if getbufvar(a:buffer, '&filetype') is# 'toml' && l:name isnot# 'labelsense.toml' && l:name isnot# 'pyproject.toml'
        return ''
    endif

    if !labelsense#ale#InProject(a:buffer) && l:name !~# '^taxonomy\.ya\?ml$'
        return ''
    endif

    return labelsense#ale#Executable(a:buffer)
endfunction

function! labelsense#ale#Options(buffer) abort
    return ale#Var(a:buffer, 'jsonl_labelsense_options')
endfunction

function! labelsense#ale#Define(filetype) abort
    call ale#linter#Define(a:filetype, {
    \   'name': 'labelsense',
    \   'lsp': 'stdio',
    \   'executable': a:filetype is# 'jsonl'
    \       ? function('labelsense#ale#Executable')
    \       : function('labelsense#ale#ProjectExecutable'),
    \   'command': '%e serve',
    \   'project_root': function('labelsense#ale#ProjectRoot'),
    \   'initialization_options': function('labelsense#ale#Options'),
    \   'language': a:filetype,
    \})
endfunction
