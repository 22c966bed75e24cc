-- labelsense for Neovim (0.7+): starts `labelsense serve` for JSONL manifests,
-- taxonomies and labelsense.toml, one client per project root, and adds
-- :LabelsenseHistory (the label history of the row under the cursor).
--
--   require("labelsense").setup({
--     cmd = { "labelsense", "serve" },      -- default: `labelsense` on PATH, else <root>/.venv/bin/labelsense
--     settings = { inlayHints = true },     -- the server's `labelsense` settings section
--     filetypes = { "jsonl", "yaml", "json", "toml" },
--   })
--
-- When nvim-lspconfig is installed, setup() also registers a `labelsense`
-- config with it: `require("lspconfig").labelsense.setup({})` (then pass
-- `autostart = false` here so that only lspconfig starts the server).
local M = {}

local uv = vim.loop
local NAME = "labelsense"
local COMMAND = "labelsense.labelHistory"

local defaults = {
  cmd = nil, -- a list, or a function(root_dir) returning one; nil: found on PATH or in <root>/.venv
  filetypes = { "jsonl", "yaml", "json", "toml" },
  root_markers = { "labelsense.toml", "pyproject.toml", ".git" },
  settings = {}, -- sent as initializationOptions and as the `labelsense` section of workspace/configuration
  capabilities = nil,
  on_attach = nil, -- function(client, bufnr)
  autostart = true, -- start the server from a FileType autocmd (false: leave it to lspconfig)
  should_attach = nil, -- function(bufnr, path) -> boolean; default: see M.should_attach
  history = "float", -- where :LabelsenseHistory shows its result: "float" or "split" (`:LabelsenseHistory!` is the other one)
}

M.config = vim.deepcopy(defaults)
local clients = {} -- root_dir -> client id (Neovim 0.7, where vim.lsp.start does not exist)
local warned = {}

local function notify(msg, level)
  vim.notify("labelsense: " .. msg, level or vim.log.levels.INFO)
end

local function warn_once(msg)
  if not warned[msg] then
    warned[msg] = true
    notify(msg, vim.log.levels.WARN)
  end
end

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

local function is_executable(path)
  return path ~= nil and vim.fn.executable(path) == 1
end

local function join(dir, ...)
  if dir == "/" then
    dir = ""
  end
  return table.concat({ dir, ... }, "/")
end

-- The absolute directory of a path (itself if it is a directory), without a trailing slash.
local function directory(path)
  local dir = vim.fn.fnamemodify(path, ":p")
  if vim.fn.isdirectory(dir) == 0 then
    dir = vim.fn.fnamemodify(dir, ":h")
  end
  return (dir:gsub("(.)/$", "%1"))
end

-- Call `found(dir)` on the directory of `path` and each parent; the first true result wins.
local function upward(path, found)
  local dir = directory(path)
  while true do
    if found(dir) then
      return dir
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

--- The nearest directory above `path` (a file or a directory) that holds one
--- of `markers`; nil when none does.
function M.find_root(path, markers)
  markers = markers or M.config.root_markers
  return upward(path, function(dir)
    for _, marker in ipairs(markers) do
      if exists(join(dir, marker)) then
        return true
      end
    end
    return false
  end)
end

--- The project root of a file: the nearest directory with a root marker, else the file's directory.
function M.root_dir(path)
  return M.find_root(path) or directory(path)
end

local function labelsense_config_above(path)
  return upward(path, function(dir)
    if exists(join(dir, "labelsense.toml")) then
      return true
    end
    local pyproject = join(dir, "pyproject.toml")
    if exists(pyproject) then
      for _, line in ipairs(vim.fn.readfile(pyproject)) do
        if line:match("^%s*%[tool%.labelsense") then
          return true
        end
      end
    end
    return false
  end) ~= nil
end

--- Whether a buffer is one for labelsense: any JSONL manifest; labelsense.toml and
--- pyproject.toml; YAML/JSON files (taxonomies, row schemas) inside a labelsense project
--- or named taxonomy.yaml/.yml.
function M.should_attach(bufnr, path)
  if path == "" or path:match("^%a[%w+.-]*://") then
    return false
  end
  local ft = vim.bo[bufnr].filetype
  local base = vim.fn.fnamemodify(path, ":t")
  if ft == "jsonl" then
    return true
  elseif ft == "toml" then
    return base == "labelsense.toml" or base == "pyproject.toml"
  elseif ft == "yaml" or ft == "json" then
    return base:match("^taxonomy%.ya?ml$") ~= nil or labelsense_config_above(path)
  end
  return true -- a filetype the user added
end

--- The server command for a project root: the configured one, else `labelsense serve`
--- from PATH, else from <root>/.venv/bin; nil when none is found.
function M.resolve_cmd(root)
  local cmd = M.config.cmd
  if type(cmd) == "function" then
    cmd = cmd(root)
  end
  if type(cmd) == "string" then
    cmd = { cmd, "serve" }
  end
  if cmd then
    return cmd
  end
  if is_executable("labelsense") then
    return { "labelsense", "serve" }
  end
  local venv = join(root, ".venv", "bin", "labelsense")
  if is_executable(venv) then
    return { venv, "serve" }
  end
  return nil
end

local function flat_settings()
  local s = M.config.settings or {}
  if type(s.labelsense) == "table" then
    return s.labelsense
  end
  return s
end

local function capabilities()
  return M.config.capabilities or vim.lsp.protocol.make_client_capabilities()
end

--- The client configuration for a project root (nil: no server command found).
function M.client_config(root)
  local cmd = M.resolve_cmd(root)
  if not cmd then
    return nil
  end
  local settings = flat_settings()
  return {
    name = NAME,
    cmd = cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    init_options = settings,
    settings = { labelsense = settings },
    capabilities = capabilities(),
    on_attach = M.config.on_attach,
    flags = { debounce_text_changes = 150 },
  }
end

--- The labelsense clients attached to a buffer.
function M.buf_clients(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local found = {}
  if vim.lsp.get_clients then -- 0.10+
    found = vim.lsp.get_clients({ bufnr = bufnr, name = NAME })
  else
    for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
      if client.name == NAME then
        table.insert(found, client)
      end
    end
  end
  return found
end

--- Start (or reuse) the client of the buffer's project and attach it to the buffer.
--- Returns the client id, or nil when the buffer is not one for labelsense.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if not vim.api.nvim_buf_is_valid(bufnr) then
    return nil
  end
  local path = vim.api.nvim_buf_get_name(bufnr)
  local should = M.config.should_attach or M.should_attach
  if not should(bufnr, path) then
    return nil
  end
  local attached = M.buf_clients(bufnr)[1]
  if attached then
    return attached.id
  end
  local root = M.root_dir(path)
  local config = M.client_config(root)
  if not config then
    warn_once("`labelsense` not found on PATH nor in " .. join(root, ".venv", "bin")
      .. "; install it (pip install labelsense) or set `cmd` in require('labelsense').setup()")
    return nil
  end
  if vim.lsp.start then -- 0.8+: reuses the client with the same name and root
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  local id = clients[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    config.on_exit = function()
      if clients[root] == id then
        clients[root] = nil
      end
    end
    id = vim.lsp.start_client(config)
    if not id then
      return nil
    end
    clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

-- :LabelsenseHistory -------------------------------------------------------

local function entry_text(entry)
  if entry == nil or entry == vim.NIL then
    return "(no label)"
  end
  if type(entry) == "table" then
    return table.concat(vim.tbl_map(tostring, entry), ", ")
  end
  return tostring(entry)
end

local function labels_text(entries)
  if entries == nil or entries == vim.NIL or #entries == 0 then
    return "(none)"
  end
  return table.concat(vim.tbl_map(entry_text, entries), " | ")
end

local function str(v, default)
  if v == nil or v == vim.NIL then
    return default or ""
  end
  return tostring(v)
end

--- The lines that show a label history (the result of `labelsense.labelHistory`).
function M.format_history(changes, title)
  local lines = { "# " .. (title or "Label history"), "" }
  if changes == nil or changes == vim.NIL or #changes == 0 then
    table.insert(lines, "No commit changed this sample's labels.")
    return lines
  end
  for _, c in ipairs(changes) do
    local head
    if c.committed then
      head = string.format("%s  %s  %s", str(c.short, "?"), str(c.date):sub(1, 10), str(c.author, "?"))
    else
      head = "Not committed yet"
    end
    local kind = str(c.kind)
    table.insert(lines, string.format("- %s: %s → %s%s", head, labels_text(c.previous), labels_text(c.labels),
      (kind ~= "" and kind ~= "changed") and (" (" .. kind .. ")") or ""))
    if str(c.summary) ~= "" then
      table.insert(lines, "    " .. str(c.summary))
    end
  end
  return lines
end

local function client_request(client, method, params, handler, bufnr)
  if vim.fn.has("nvim-0.11") == 1 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

--- Ask the server for the label history of a row: callback(err, changes).
--- `line` is 0-based (default: the cursor's line).
function M.label_history(bufnr, line, callback)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  line = line or (vim.api.nvim_win_get_cursor(0)[1] - 1)
  local client = M.buf_clients(bufnr)[1]
  if not client then
    callback({ message = "no labelsense server is attached to this buffer" }, nil)
    return
  end
  local params = { command = COMMAND, arguments = { vim.uri_from_bufnr(bufnr), line } }
  client_request(client, "workspace/executeCommand", params, function(err, result)
    callback(err, result)
  end, bufnr)
end

local function show_split(lines, title)
  vim.cmd("botright new")
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  pcall(vim.api.nvim_buf_set_name, buf, "labelsense://history/" .. title)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "markdown"
  vim.api.nvim_win_set_height(0, math.min(#lines + 1, 15))
  return buf
end

--- :LabelsenseHistory[!] — show the label history of the row under the cursor in a
--- float (or, with !, in a scratch split; `history = "split"` swaps the two).
function M.show_history(opts)
  opts = opts or {}
  local bufnr = vim.api.nvim_get_current_buf()
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local where = M.config.history
  if opts.bang then
    where = where == "split" and "float" or "split"
  end
  M.label_history(bufnr, line, function(err, result)
    if err then
      notify(str(err.message, vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    local title = string.format("%s line %d", vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ":t"), line + 1)
    local lines = M.format_history(result, "Label history: " .. title)
    if where == "split" then
      show_split(lines, title)
    else
      vim.lsp.util.open_floating_preview(lines, "markdown", { border = "rounded", focus_id = "labelsense-history" })
    end
  end)
end

-- nvim-lspconfig -------------------------------------------------------------

--- Register a `labelsense` server with nvim-lspconfig, if it is installed.
function M.register_lspconfig()
  local ok, configs = pcall(require, "lspconfig.configs")
  if not ok then
    return false
  end
  if configs[NAME] then
    return true
  end
  local settings = flat_settings()
  local explicit = M.config.cmd
  if type(explicit) == "string" then
    explicit = { explicit, "serve" }
  end
  configs[NAME] = {
    default_config = {
      cmd = type(explicit) == "table" and explicit or { "labelsense", "serve" },
      filetypes = M.config.filetypes,
      root_dir = function(fname, bufnr)
        local should = M.config.should_attach or M.should_attach
        if bufnr and not should(bufnr, fname) then
          return nil
        end
        return M.root_dir(fname)
      end,
      single_file_support = false, -- root_dir is nil only for buffers that are not for labelsense
      init_options = settings,
      settings = { labelsense = settings },
    },
    -- per root: a cmd function from setup(), or the default command found on PATH / in <root>/.venv
    on_new_config = function(new_config, root)
      if type(explicit) == "function" then
        new_config.cmd = explicit(root)
      elseif explicit == nil and new_config.cmd and new_config.cmd[1] == "labelsense" then
        new_config.cmd = M.resolve_cmd(root) or new_config.cmd
      end
    end,
    docs = {
      description = "labelsense: a linter and language server for dataset label files (JSONL/Parquet manifests, class taxonomies).",
    },
  }
  return true
end

-- setup -----------------------------------------------------------------------

local group

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  if opts and opts.settings then -- settings are replaced, not merged with the defaults
    M.config.settings = opts.settings
  end
  if opts and opts.filetypes then
    M.config.filetypes = opts.filetypes
  end
  M.register_lspconfig()

  vim.api.nvim_create_user_command("LabelsenseHistory", function(cmd)
    M.show_history({ bang = cmd.bang })
  end, { bang = true, desc = "labelsense: label history of the row under the cursor" })

  group = vim.api.nvim_create_augroup("labelsense", { clear = true })
  if not M.config.autostart then
    return
  end
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
    desc = "labelsense: start or reuse the language server of the buffer's project",
  })
  -- buffers opened before setup() (a lazy-loaded plugin)
  local wanted = {}
  for _, ft in ipairs(M.config.filetypes) do
    wanted[ft] = true
  end
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and wanted[vim.bo[buf].filetype] then
      M.attach(buf)
    end
  end
end

return M
