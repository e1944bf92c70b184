-- The init file of the Neovim end-to-end test: the plugin as a user loads it, plus a few probes the test
-- calls through `nvim --server … --remote-expr`. g:kibitz_test (set with --cmd) says where things are:
-- { plugin = <editors/nvim>, cmd = <kibitz lsp command>, answers = <what vim.ui.input returns, in order> }.
local test = vim.g.kibitz_test
vim.opt.runtimepath:prepend(test.plugin)
vim.o.swapfile = false
-- Python's ftplugin asks has('python3'), which starts a Python to look for pynvim: 2 s per test, for nothing.
vim.g.loaded_python3_provider = 0

-- Every message the plugin shows, in order (headless Neovim has no screen to read them from).
local messages = {}
vim.notify = function(message, level)
  table.insert(messages, { message = message, level = level or vim.log.levels.INFO })
end

-- vim.ui.input answers from a queue the test fills; the prompts are kept to check them.
local answers, prompts = {}, {}
vim.ui.input = function(opts, on_confirm)
  table.insert(prompts, opts.prompt)
  on_confirm(table.remove(answers, 1))
end

-- The addresses the server asked to open in a browser (window/showDocument).
local opened = {}

-- vim.ui.select picks the item whose text holds the next queued pattern (code actions use it).
local choices = {}
vim.ui.select = function(items, opts, on_choice)
  local wanted = table.remove(choices, 1)
  local format = opts.format_item or tostring
  for _, item in ipairs(items) do
    if wanted and format(item):find(wanted, 1, true) then
      return on_choice(item)
    end
  end
  table.insert(prompts, "no choice matched " .. tostring(wanted))
  on_choice(nil)
end

KibitzTest = {}

--- Queue texts that the next vim.ui.select choices must hold.
function KibitzTest.choose(list)
  vim.list_extend(choices, list)
  return true
end

--- Queue answers for the next vim.ui.input prompts.
function KibitzTest.answer(list)
  vim.list_extend(answers, list)
  return true
end

--- Everything the test reads, as JSON: diagnostics of the current buffer, messages, prompts, clients.
function KibitzTest.state()
  local diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    local code = d.user_data and d.user_data.lsp and d.user_data.lsp.code
    table.insert(diagnostics, { lnum = d.lnum, end_lnum = d.end_lnum, message = d.message, code = code, source = d.source })
  end
  local clients = {}
  for _, client in pairs(vim.lsp.buf_get_clients(0)) do
    table.insert(clients, { name = client.name, root = client.config.root_dir })
  end
  local lenses = {}
  for _, lens in ipairs(vim.lsp.codelens.get(0)) do
    table.insert(lenses, { line = lens.range.start.line, command = lens.command and lens.command.command })
  end
  return vim.fn.json_encode({
    diagnostics = diagnostics,
    messages = messages,
    prompts = prompts,
    clients = clients,
    lenses = lenses,
    opened = opened,
    pending_answers = #answers,
  })
end

require("kibitz").setup({
  cmd = test.cmd,
  debounce_ms = 50,
  debounce_text_changes = 50,
  open_url = function(url)
    table.insert(opened, url)
    return true
  end,
})
