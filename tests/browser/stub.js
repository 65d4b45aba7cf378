// The test's stand-in for https://telegram.org/js/telegram-web-app.js: initData signed by the test's
// bot token, a theme, and BackButton / MainButton that record what the page does with them.
(function () {
  var config = __CONFIG__;
  var record = { back: false, main: null, mainText: "", backHandler: null, ready: false, events: {} };
  window.__tg = record;
  window.Telegram = {
    WebApp: {
      initData: config.initData,
      initDataUnsafe: {},
      colorScheme: config.colorScheme,
      themeParams: config.themeParams,
      ready: function () { record.ready = true; },
      expand: function () {},
      onEvent: function (name, fn) { record.events[name] = fn; },
      BackButton: {
        show: function () { record.back = true; },
        hide: function () { record.back = false; },
        onClick: function (fn) { record.backHandler = fn; }
      },
      MainButton: {
        setText: function (text) { record.mainText = text; },
        onClick: function (fn) { record.main = fn; },
        offClick: function () { record.main = null; },
        show: function () { record.mainShown = true; },
        hide: function () { record.mainShown = false; }
      }
    }
  };
})();
