-- wrk script: replays pre-signed requests from a file, one per line:
--   <method>\t<path>\t<Header-Name>: <value>\t...
-- Lines are split across wrk threads (line i goes to thread i mod N), so no two threads share a
-- single-use request. When a thread runs out it wraps around; for single-use requests that shows
-- up as non-2xx responses, which the runner reports and treats as a failed run.
local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  requests = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == tid then
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do table.insert(fields, field) end
      local headers = {}
      for k = 3, #fields do
        local name, value = string.match(fields[k], "^([^:]+): (.*)$")
        headers[name] = value
      end
      table.insert(requests, wrk.format(fields[1], fields[2], headers))
    end
    i = i + 1
  end
  index = 0
end

function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end
