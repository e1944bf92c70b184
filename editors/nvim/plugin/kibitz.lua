-- Loaded by Neovim for every session that has this directory on 'runtimepath'. It starts nothing: the
-- language server runs only after `require("kibitz").setup{}` (see `:help kibitz`).
if vim.g.loaded_kibitz then
  return
end
vim.g.loaded_kibitz = true
if vim.fn.has("nvim-0.7") == 0 then
  vim.api.nvim_echo({ { "kibitz: Neovim 0.7 or newer is needed", "WarningMsg" } }, true, {})
end
