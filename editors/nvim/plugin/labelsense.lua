-- Nothing starts until require("labelsense").setup() is called; this only makes
-- :LabelsenseHistory available to users of lspconfig who never call setup().
if vim.g.loaded_labelsense then
  return
end
vim.g.loaded_labelsense = 1
if vim.api.nvim_create_user_command then
  vim.api.nvim_create_user_command("LabelsenseHistory", function(cmd)
    require("labelsense").show_history({ bang = cmd.bang })
  end, { bang = true, desc = "labelsense: label history of the row under the cursor" })
end
