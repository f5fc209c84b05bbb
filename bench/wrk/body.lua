-- The deployment body every POST script sends (~1 KB): tags "bench" and
-- "t<tag % 10>", a parameter schema the parameters satisfy, entrypoint,
-- path, job variables and a pull step. bench/make_log writes the same shape.
function deployment_body(name, flow_id, tag, x)
  return string.format(
    '{"name":"%s","flow_id":"%s","version":"1.0",' ..
    '"description":"load test","tags":["bench","t%d"],' ..
    '"parameters":{"x":%d,"who":"world"},' ..
    '"parameter_openapi_schema":{"title":"Parameters","type":"object",' ..
    '"properties":{"x":{"title":"x","position":0,"type":"integer"},' ..
    '"who":{"title":"who","position":1,"type":"string",' ..
    '"default":"world"}},"required":["x"],"definitions":{}},' ..
    '"enforce_parameter_schema":true,' ..
    '"entrypoint":"flows/bench.py:bench","path":"/opt/prefect/flows",' ..
    '"job_variables":{"env":{"BENCH":"1"},"image":"prefecthq/prefect:3"},' ..
    '"pull_steps":[{"prefect.deployments.steps.set_working_directory":' ..
    '{"directory":"/opt/prefect/flows"}}],' ..
    '"labels":{"team":"bench"},"schedules":[],"paused":false}',
    name, flow_id, tag % 10, x or tag)
end
