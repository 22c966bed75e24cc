-- End-to-end driver for Neovim (0.7+): loads the real plugin from editors/nvim,
-- opens a manifest, and records what a user would see into a JSON file:
-- the buffer's diagnostics, the hover float, where go-to-definition lands, the
-- :LabelsenseHistory float, and the diagnostics of a second manifest opened later.
--
--   nvim --headless --clean -u nvim_e2e.lua FILE.jsonl      (LABELSENSE_E2E=params.json)
--
-- params.json: {"out": path, "plugin": editors/nvim, "cmd": [exe, "serve"],
--               "line": 0-based row, "col": 0-based column of a label, "history": bool,
--               "second": another manifest, "second_line": 0-based row of its conflict}
local params = vim.fn.json_decode(table.concat(vim.fn.readfile(os.getenv("LABELSENSE_E2E")), "\n"))
local result = { steps = {}, version = vim.version() }
local WAIT = 10000

vim.opt.runtimepath:prepend(params.plugin)
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"

-- nvim-lspconfig is not packaged for Debian: a stand-in `lspconfig.configs` table
-- checks that setup() registers a well-formed `labelsense` server config with it.
local lspconfig_configs = {}
package.preload["lspconfig.configs"] = function() return lspconfig_configs end

local ls = require("labelsense")
ls.setup({ cmd = params.cmd, settings = { preview = false } })

local function step(name)
  table.insert(result.steps, name)
end

local function finish(code)
  vim.fn.writefile({ vim.fn.json_encode(result) }, params.out)
  -- quitting stops the clients as for a user: Neovim sends shutdown/exit on VimLeavePre
  if code == 0 then
    vim.cmd("qall!")
  else
    vim.cmd("cquit " .. code)
  end
end

local function floats()
  local found = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then
      table.insert(found, win)
    end
  end
  return found
end

local function float_lines()
  local win = floats()[1]
  if not win then
    return nil
  end
  return vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
end

local function close_floats()
  for _, win in ipairs(floats()) do
    vim.api.nvim_win_close(win, true)
  end
end

local function has_conflict(bufnr, line)
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.code == "LS401" and d.lnum == line then
      return true
    end
  end
  return false
end

local function diagnostics(bufnr)
  local items = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(items, { line = d.lnum, col = d.col, end_line = d.end_lnum, end_col = d.end_col,
                          code = d.code, message = d.message, source = d.source, severity = d.severity })
  end
  return items
end

local function run()
  local buf = vim.api.nvim_get_current_buf()
  local manifest = vim.api.nvim_buf_get_name(buf)
  result.filetype = vim.bo[buf].filetype

  step("attach")
  vim.wait(WAIT, function() return #ls.buf_clients(buf) > 0 and ls.buf_clients(buf)[1].initialized end, 20)
  local client = ls.buf_clients(buf)[1]
  result.client = client and { name = client.name, root_dir = client.config.root_dir, cmd = client.config.cmd } or vim.NIL

  local registered = lspconfig_configs.labelsense
  result.lspconfig = registered and {
    cmd = registered.default_config.cmd,
    filetypes = registered.default_config.filetypes,
    root_dir = registered.default_config.root_dir(manifest, buf) or vim.NIL,
    has_on_new_config = type(registered.on_new_config) == "function",
  } or vim.NIL

  step("diagnostics")
  vim.wait(WAIT, function() return has_conflict(buf, params.line) end, 20)
  result.diagnostics = diagnostics(buf)

  step("hover")
  vim.api.nvim_win_set_cursor(0, { params.line + 1, params.col })
  vim.lsp.buf.hover()
  vim.wait(WAIT, function() return #floats() > 0 end, 20)
  result.hover = float_lines() or vim.NIL
  close_floats()

  step("definition")
  vim.api.nvim_win_set_cursor(0, { params.line + 1, params.col })
  vim.lsp.buf.definition()
  vim.wait(WAIT, function() return vim.api.nvim_get_current_buf() ~= buf end, 20)
  local cursor = vim.api.nvim_win_get_cursor(0)
  result.definition = { file = vim.api.nvim_buf_get_name(0), line = cursor[1] - 1, col = cursor[2],
                        filetype = vim.bo.filetype, text = vim.api.nvim_get_current_line(),
                        clients = #ls.buf_clients(0) }

  if params.history then
    step("history")
    vim.cmd("buffer " .. buf)
    vim.api.nvim_win_set_cursor(0, { params.line + 1, 0 })
    vim.cmd("LabelsenseHistory")
    vim.wait(WAIT, function() return #floats() > 0 end, 20)
    result.history = float_lines() or vim.NIL
    close_floats()
  end

  -- another manifest of the dataset, opened after the server has indexed it
  step("second")
  vim.cmd("edit " .. vim.fn.fnameescape(params.second))
  local second = vim.api.nvim_get_current_buf()
  vim.wait(WAIT, function() return has_conflict(second, params.second_line) end, 20)
  result.second = { file = vim.api.nvim_buf_get_name(second), filetype = vim.bo[second].filetype,
                    diagnostics = diagnostics(second), clients = #ls.buf_clients(second) }

  step("done")
  result.manifest = manifest
end

vim.api.nvim_create_autocmd("VimEnter", {
  callback = function()
    vim.schedule(function()
      local ok, err = xpcall(run, debug.traceback)
      if not ok then
        result.error = err
      end
      finish(ok and 0 or 1)
    end)
  end,
})
