-- Pure helpers over the language server's answers: no editor state, so they can be tested alone.
local M = {}

--- The codemark types `kibitz.add` accepts, in the order the prompt lists them.
M.TYPES = { "comment", "question", "issue", "bookmark", "link" }

--- Tell whether `kind` is one of the codemark types.
function M.is_type(kind)
  return vim.tbl_contains(M.TYPES, kind)
end

--- Return the placed thread whose range holds `line` (0-based), the narrowest when several do, or nil.
--- A range ends at the end of its block's last line (character 0 when that line is blank), so the end
--- line is part of the block.
function M.at_line(threads, line)
  local best, best_span
  for _, thread in ipairs(threads or {}) do
    local range = thread.range
    if type(range) == "table" then
      local first, last = range.start.line, range["end"].line
      if first <= line and line <= last and (best_span == nil or last - first < best_span) then
        best, best_span = thread, last - first
      end
    end
  end
  return best
end

--- Return the LSP range of whole lines `first`..`last` (1-based, inclusive): from the start of the first
--- line to the start of the line after the last (an end at character 0 is not part of the range), which
--- also holds a blank last line and needs no counting of characters.
function M.line_range(first, last)
  return {
    start = { line = first - 1, character = 0 },
    ["end"] = { line = last, character = 0 },
  }
end

--- Return a one-line description of a thread for messages and pickers.
function M.describe(thread)
  local title = thread.title
  if title == nil or title == vim.NIL or title == "" then
    title = (thread.text or ""):gsub("\n.*", "")
  end
  return string.format("%s · %s · %s", thread.type or "?", thread.status or "?", title)
end

return M
