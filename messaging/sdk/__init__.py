"""Herald's first-party web SDK: the endpoints it calls (api), who may call them (access,
cors), what they do (services), the files it is served as (assets) and its dashboard page
(views). The SDK itself lives in static/sdk/."""
