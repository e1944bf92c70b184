-- Kibitz for Neovim: starts `kibitz lsp` for files in git repositories and maps the few commands that
-- need the user to type something. Everything else (diagnostics, code lens, hover, code actions) is the
-- language server's, drawn by Neovim's own LSP client. Written for Neovim 0.7 (no `vim.lsp.start`).
local threads = require("kibitz.threads")

local M = {}

local defaults = {
  -- The language server command; a list, run without a shell.
  cmd = { "kibitz", "lsp" },
  -- Extra environment for the server (e.g. KIBITZ_CONFIG_DIR), merged into Neovim's.
  cmd_env = nil,
  -- How long the server waits after a keystroke before it relocates (ms); nil keeps its default.
  debounce_ms = nil,
  -- How long Neovim gathers keystrokes before it sends them (ms).
  debounce_text_changes = 150,
  -- Refresh code lenses on these events (besides the server's refresh requests).
  codelens_events = { "BufEnter", "InsertLeave", "BufWritePost" },
  -- Open a permalink the server asks to show (`window/showDocument` with external = true).
  open_url = nil,
  -- Called as on_attach(client, bufnr) after the client attaches to a buffer.
  on_attach = nil,
}

local config = vim.deepcopy(defaults)
local client_by_root = {}
local root_by_dir = {}
local status_by_client = {}
local said_by_client = {}
local group = nil
local warned_missing = false
-- Client-side handlers of the server's commands that need text typed (defined with the prompts below).
local client_commands

local function notify(message, level)
  vim.notify("Kibitz: " .. message, level or vim.log.levels.INFO)
end

-- The git top level of a directory, or false (cached: one `git` call per directory).
local function git_root(dir)
  local known = root_by_dir[dir]
  if known ~= nil then
    return known
  end
  local out = vim.fn.systemlist({ "git", "-C", dir, "rev-parse", "--show-toplevel" })
  local root = false
  if vim.v.shell_error == 0 and out[1] and out[1] ~= "" then
    root = out[1]
  end
  root_by_dir[dir] = root
  return root
end

--- Return the git top level of a buffer's file, or nil when it is not a file inside a git repository.
function M.root_of(bufnr)
  if vim.api.nvim_buf_get_option(bufnr, "buftype") ~= "" then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or name:match("^%a[%w+.-]*://") then
    return nil
  end
  local dir = vim.fn.fnamemodify(name, ":p:h")
  if vim.fn.isdirectory(dir) == 0 then
    return nil
  end
  return git_root(dir) or nil
end

--- Return the Kibitz client attached to `bufnr` (0: the current buffer), or nil.
function M.client_for(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if client.name == "kibitz" then
      return client
    end
  end
  return nil
end

-- The loaded buffer showing a document, if any (never creates one; names are compared, not matched).
local function buf_of_uri(uri)
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.uri_from_bufnr(bufnr) == uri then
      return bufnr
    end
  end
  return nil
end

local function refresh_lenses(bufnr)
  if bufnr == vim.api.nvim_get_current_buf() and M.client_for(bufnr) then
    vim.lsp.codelens.refresh()
  end
end

local function fire(pattern)
  if vim.fn.exists("#User#" .. pattern) == 1 then
    vim.cmd("doautocmd <nomodeline> User " .. pattern)
  end
end

-- Open a URL in the browser when there is one to open it in; tell whether it was opened.
local function open_url(url)
  if config.open_url then
    return config.open_url(url)
  end
  local opener
  if vim.fn.has("mac") == 1 then
    opener = "open"
  elseif vim.fn.executable("xdg-open") == 1 and (os.getenv("DISPLAY") or os.getenv("WAYLAND_DISPLAY")) then
    opener = "xdg-open"
  end
  if opener == nil then
    return false
  end
  return vim.fn.jobstart({ opener, url }, { detach = true }) > 0
end

local STATUS_LEVELS = {
  ready = vim.log.levels.INFO,
  ["signed-out"] = vim.log.levels.WARN,
  offline = vim.log.levels.WARN,
  error = vim.log.levels.ERROR,
}

local handlers = {
  -- The server's state: echoed once per change, kept for `statusline()`.
  ["kibitz/status"] = function(_, result, ctx)
    if type(result) ~= "table" then
      return
    end
    status_by_client[ctx.client_id] = result
    -- Said when the state changes, not when only the wording does (each retry may word it differently).
    if said_by_client[ctx.client_id] ~= result.state then
      said_by_client[ctx.client_id] = result.state
      local text = tostring(result.message or result.state)
      if result.state == "ready" and type(result.team) == "string" then
        text = text .. ", team " .. result.team
      end
      notify(text, STATUS_LEVELS[result.state])
    end
    fire("KibitzStatus")
  end,
  -- The server also says a bad day with window/showMessage, for clients without kibitz/status: the
  -- status above has just said it, so only other messages are shown.
  ["window/showMessage"] = function(err, result, ctx, handler_config)
    local status = status_by_client[ctx.client_id]
    if type(result) == "table" and status and result.message == "Kibitz: " .. tostring(status.message) then
      return vim.NIL
    end
    return vim.lsp.handlers["window/showMessage"](err, result, ctx, handler_config)
  end,
  -- Threads of a document changed: redraw its lenses (other buffers refresh theirs on BufEnter).
  ["kibitz/threadsChanged"] = function(_, result)
    local bufnr = type(result) == "table" and result.uri and buf_of_uri(result.uri)
    if bufnr then
      refresh_lenses(bufnr)
    end
    fire("KibitzThreadsChanged")
  end,
  -- Neovim 0.7 has no handler for these two requests.
  ["workspace/codeLens/refresh"] = function()
    refresh_lenses(vim.api.nvim_get_current_buf())
    return vim.NIL
  end,
  ["window/showDocument"] = function(_, result)
    if type(result) ~= "table" or type(result.uri) ~= "string" then
      return { success = false }
    end
    if result.external then
      return { success = open_url(result.uri) == true }
    end
    vim.cmd("edit " .. vim.fn.fnameescape(vim.uri_to_fname(result.uri)))
    return { success = true }
  end,
}

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.workspace = caps.workspace or {}
  caps.workspace.codeLens = { refreshSupport = true }
  caps.window = caps.window or {}
  caps.window.showDocument = { support = true }
  return caps
end

local function on_attach(client, bufnr)
  if config.codelens_events and #config.codelens_events > 0 then
    -- One group per buffer: attaching again (a restarted server) replaces the autocommands.
    vim.api.nvim_create_autocmd(config.codelens_events, {
      group = vim.api.nvim_create_augroup("kibitz_lenses_" .. bufnr, { clear = true }),
      buffer = bufnr,
      callback = function()
        refresh_lenses(bufnr)
      end,
    })
    refresh_lenses(bufnr)
  end
  if config.on_attach then
    config.on_attach(client, bufnr)
  end
end

local function start(root)
  local init_options = { prompts = true }
  if config.debounce_ms ~= nil then
    init_options.debounceMs = config.debounce_ms
  end
  return vim.lsp.start_client({
    name = "kibitz",
    cmd = config.cmd,
    cmd_env = config.cmd_env,
    root_dir = root,
    init_options = init_options,
    capabilities = capabilities(),
    handlers = handlers,
    commands = client_commands,
    flags = { debounce_text_changes = config.debounce_text_changes },
    on_attach = on_attach,
    on_exit = function(_, _, client_id)
      status_by_client[client_id] = nil
      said_by_client[client_id] = nil
    end,
  })
end

--- Attach the Kibitz client of the buffer's repository to `bufnr` (0: current), starting it if needed.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local root = M.root_of(bufnr)
  if root == nil then
    return nil
  end
  if vim.fn.executable(config.cmd[1]) ~= 1 then
    if not warned_missing then
      warned_missing = true
      notify(string.format("cannot start `%s`: not found on PATH", config.cmd[1]), vim.log.levels.WARN)
    end
    return nil
  end
  local id = client_by_root[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if client == nil or client.is_stopped() then
    id = start(root)
    if id == nil then
      return nil
    end
    client_by_root[root] = id
  end
  if not vim.lsp.buf_is_attached(bufnr, id) then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- Return the language server command in use (a list).
function M.command()
  return vim.deepcopy(config.cmd)
end

--- Return the last `kibitz/status` of the current buffer's server as a short text (for a statusline).
function M.statusline()
  local client = M.client_for(0)
  local status = client and status_by_client[client.id]
  if status == nil then
    return ""
  end
  if status.state == "ready" then
    return "kibitz: " .. tostring(status.team or status.user or "ready")
  end
  return "kibitz: " .. tostring(status.state)
end

--- Ask the server for the threads of `bufnr` and call `callback(threads)` (nil and a message on error).
function M.threads(bufnr, callback)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = M.client_for(bufnr)
  if client == nil then
    return callback(nil, "this buffer has no Kibitz language server (is the file in a git repository?)")
  end
  client.request("kibitz/threads", { uri = vim.uri_from_bufnr(bufnr) }, function(err, result)
    if err then
      return callback(nil, err.message)
    end
    callback((type(result) == "table" and result.threads) or {})
  end, bufnr)
end

--- Run a Kibitz command with its one argument; `done(result)` runs when it succeeded.
function M.execute(bufnr, command, argument, done)
  local client = M.client_for(bufnr)
  if client == nil then
    return notify("this buffer has no Kibitz language server", vim.log.levels.WARN)
  end
  client.request("workspace/executeCommand", { command = command, arguments = { argument } }, function(err, result)
    if err then
      return notify(err.message or tostring(err), vim.log.levels.ERROR)
    end
    if done then
      done(result)
    end
    refresh_lenses(bufnr)
  end, bufnr)
end

-- Call `action(thread)` with the codemark under the cursor, or say there is none.
local function with_thread_under_cursor(action)
  local bufnr = vim.api.nvim_get_current_buf()
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  M.threads(bufnr, function(list, problem)
    if list == nil then
      return notify(problem, vim.log.levels.WARN)
    end
    local thread = threads.at_line(list, line)
    if thread == nil then
      return notify("no codemark on this line", vim.log.levels.WARN)
    end
    action(bufnr, thread)
  end)
end

local function input(prompt, default, callback)
  vim.ui.input({ prompt = prompt, default = default }, function(answer)
    if answer ~= nil then
      callback(answer)
    end
  end)
end

-- Ask for the title and the text of a `kibitz.add` whose uri, range and type are known, then send it.
local function complete_add(bufnr, argument)
  local range = argument.range
  local last = range["end"].line + ((range["end"].character == 0 and range["end"].line > range.start.line) and 0 or 1)
  local lines = string.format("%d-%d", range.start.line + 1, last)
  input("Title (optional): ", "", function(title)
    input("Text: ", "", function(text)
      local complete = vim.tbl_extend("force", argument, { text = text })
      if title ~= "" then
        complete.title = title
      end
      M.execute(bufnr, "kibitz.add", complete, function(result)
        notify(string.format("%s added on lines %s: %s", argument.type, lines, tostring(result.permalink)))
      end)
    end)
  end)
end

-- Send a reply to codemark `id` (`label` names it in the prompt and the confirmation), asking for the text.
local function complete_reply(bufnr, id, label, text)
  local function send(answer)
    if answer == "" then
      return notify("nothing to send", vim.log.levels.WARN)
    end
    M.execute(bufnr, "kibitz.reply", { id = id, text = answer }, function()
      notify("replied to " .. label)
    end)
  end
  if text ~= nil and text ~= "" then
    send(text)
  else
    input("Reply to " .. label .. ": ", "", send)
  end
end

--- Add a codemark on lines `first`..`last` of the current buffer, asking for what the caller did not give.
function M.add(first, last, kind)
  local bufnr = vim.api.nvim_get_current_buf()
  if M.client_for(bufnr) == nil then
    return notify("this buffer has no Kibitz language server", vim.log.levels.WARN)
  end
  local range = threads.line_range(first, last)
  local function ask_rest(chosen)
    if not threads.is_type(chosen) then
      return notify("the type must be one of " .. table.concat(threads.TYPES, ", "), vim.log.levels.ERROR)
    end
    complete_add(bufnr, { uri = vim.uri_from_bufnr(bufnr), range = range, type = chosen })
  end
  if kind ~= nil and kind ~= "" then
    ask_rest(kind)
  else
    input("Type (" .. table.concat(threads.TYPES, ", ") .. "): ", "comment", ask_rest)
  end
end

--- Reply to the codemark under the cursor (`text` given, or asked for).
function M.reply(text)
  with_thread_under_cursor(function(bufnr, thread)
    complete_reply(bufnr, thread.id, threads.describe(thread), text)
  end)
end

-- The server's code actions to add and reply carry no text (this client said it prompts): ask for it.
client_commands = {
  ["kibitz.add"] = function(command, ctx)
    local argument = (command.arguments or {})[1]
    if type(argument) == "table" then
      complete_add(ctx.bufnr, argument)
    end
  end,
  ["kibitz.reply"] = function(command, ctx)
    local argument = (command.arguments or {})[1]
    if type(argument) == "table" and argument.id then
      local label = (tostring(command.title or argument.id):gsub("^Kibitz: reply to ", ""))
      complete_reply(ctx.bufnr, argument.id, label, argument.text)
    end
  end,
}

-- Resolve, reopen or open the codemark under the cursor.
local function act(command, what)
  with_thread_under_cursor(function(bufnr, thread)
    M.execute(bufnr, command, { id = thread.id }, function(result)
      if command == "kibitz.openInBrowser" then
        -- Shown even when a browser opened it: in a terminal it is the link to copy.
        return notify(tostring(type(result) == "table" and result.permalink or thread.permalink))
      end
      notify(what .. " " .. threads.describe(thread))
    end)
  end)
end

function M.resolve()
  act("kibitz.resolve", "resolved")
end

function M.reopen()
  act("kibitz.reopen", "reopened")
end

function M.open()
  act("kibitz.openInBrowser", "opened")
end

local function define_commands()
  local command = vim.api.nvim_create_user_command
  command("KibitzAdd", function(args)
    M.add(args.line1, args.line2, args.args)
  end, {
    range = true,
    nargs = "?",
    complete = function()
      return threads.TYPES
    end,
    desc = "Kibitz: add a codemark on the selected lines",
  })
  command("KibitzReply", function(args)
    M.reply(args.args)
  end, { nargs = "*", desc = "Kibitz: reply to the codemark under the cursor" })
  command("KibitzResolve", M.resolve, { desc = "Kibitz: resolve the codemark under the cursor" })
  command("KibitzReopen", M.reopen, { desc = "Kibitz: reopen the codemark under the cursor" })
  command("KibitzOpen", M.open, { desc = "Kibitz: open the codemark under the cursor in the browser" })
end

--- Configure the plugin, attach to buffers in git repositories from now on, and define the commands.
function M.setup(opts)
  config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  if type(config.cmd) == "string" then
    config.cmd = { config.cmd }
  end
  group = vim.api.nvim_create_augroup("kibitz", { clear = true })
  vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile", "FileType" }, {
    group = group,
    callback = function(event)
      M.attach(event.buf)
    end,
  })
  define_commands()
  -- Buffers opened before setup ran.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      M.attach(bufnr)
    end
  end
end

return M
