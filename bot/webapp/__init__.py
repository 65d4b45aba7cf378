"""The Mini App: the pipeline board, the client list, the client card and My day, opened from the
bot inside Telegram (a WebApp button, /board, the chat's menu button).

- server: the aiohttp application (routes, security headers, one transaction per request) and the
  standalone server polling mode starts on WEBAPP_HOST:WEBAPP_PORT;
- auth: the Mini App's initData (signature and age) and the same roles as the bot;
- routes: thin handlers that call the same services as the bot;
- render: Jinja2 (autoescaped) templates in the person's language; static/: the page's own script
  and style sheet, served by the bot (nothing from a CDN but Telegram's telegram-web-app.js).
"""
