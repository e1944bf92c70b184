-- `:checkhealth kibitz`: what the plugin needs, checked where the user can see it.
local M = {}

function M.check()
  local health = vim.health or require("health")
  local start = health.start or health.report_start
  local ok = health.ok or health.report_ok
  local error = health.error or health.report_error
  local warn = health.warn or health.report_warn
  start("kibitz")
  if vim.fn.has("nvim-0.7") == 1 then
    ok("Neovim 0.7 or newer")
  else
    error("Neovim 0.7 or newer is needed")
  end
  if vim.fn.executable("git") == 1 then
    ok("git found")
  else
    error("git not found: Kibitz attaches only to files in git repositories")
  end
  local program = require("kibitz").command()[1]
  if vim.fn.executable(program) == 1 then
    ok(program .. " found: " .. vim.fn.exepath(program))
  else
    warn(program .. " not found on PATH: set `cmd` in require('kibitz').setup{} to its full path")
  end
  local client = require("kibitz").client_for(0)
  if client then
    ok("this buffer is attached (client " .. client.id .. ", root " .. tostring(client.config.root_dir) .. ")")
  else
    warn("this buffer has no Kibitz client (not a file in a git repository, or setup() was not called)")
  end
end

return M
