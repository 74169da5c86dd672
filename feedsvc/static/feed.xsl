<?xml version="1.0" encoding="UTF-8"?>
<!-- Renders feedsvc's Atom and RSS documents as a readable page when opened in a browser.
     Feed readers ignore the xml-stylesheet instruction and read the unchanged XML.
     The words are parameters: feedsvc passes them in the feed's language (i18n.feed_page_strings)
     when it transforms a feed for a browser; a client running this file itself gets English.
     Dates: feedsvc provides f:human-date (the date in the page's language); without it the
     date is printed as the feed carries it. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:f="urn:x-feedsvc:xslt"
    exclude-result-prefixes="atom dc f">
  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:param name="t-web-feed">web feed</xsl:param>
  <xsl:param name="t-intro">This is a web feed, also known as an Atom or RSS feed.</xsl:param>
  <xsl:param name="t-subscribe">Subscribe by copying the address below into a feed reader (NetNewsWire, Feedly, Inoreader, Miniflux, Thunderbird…): it then shows you every new post.</xsl:param>
  <xsl:param name="t-about">New to feeds? Get started with About Feeds (free).</xsl:param>
  <xsl:param name="t-address">Feed address</xsl:param>
  <xsl:param name="t-visit">Visit the website →</xsl:param>
  <xsl:param name="t-recent">Recent posts</xsl:param>
  <xsl:param name="t-empty">No posts yet.</xsl:param>
  <xsl:param name="t-first">Newest posts</xsl:param>
  <xsl:param name="t-previous">← Newer</xsl:param>
  <xsl:param name="t-next">Older →</xsl:param>
  <xsl:param name="t-last">Oldest posts</xsl:param>
  <xsl:param name="t-prev-archive">Older posts (archive)</xsl:param>
  <xsl:param name="t-next-archive">Newer posts (archive)</xsl:param>
  <xsl:param name="t-current">Current feed</xsl:param>
  <!-- The language of the words above (feedsvc: the catalog's, when the feed's has none). -->
  <xsl:param name="ui-lang">en</xsl:param>
  <!-- The page's direction (feedsvc passes Babel's; standalone: the common right-to-left languages). -->
  <xsl:param name="dir">
    <xsl:call-template name="dir-of"><xsl:with-param name="lang" select="atom:feed/@xml:lang | rss/channel/language"/></xsl:call-template>
  </xsl:param>

  <!-- The stylesheet's own directory, read from the xml-stylesheet instruction, so the CSS is
       found even when feedsvc is served under a path prefix. -->
  <xsl:variable name="pi" select="/processing-instruction('xml-stylesheet')"/>
  <xsl:variable name="static" select="substring-before(substring-after($pi, 'href=&quot;'), 'feed.xsl')"/>
  <xsl:variable name="page-lang" select="string(atom:feed/@xml:lang | rss/channel/language)"/>

  <xsl:template name="dir-of">
    <xsl:param name="lang"/>
    <xsl:variable name="primary" select="translate(substring-before(concat($lang, '-'), '-'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"/>
    <xsl:choose>
      <xsl:when test="contains(' ar fa he ur ps sd ug yi dv ckb ', concat(' ', $primary, ' '))">rtl</xsl:when>
      <xsl:otherwise>ltr</xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- Interface words in another language than the page's (a zh feed, English words) say so. -->
  <xsl:template name="ui">
    <xsl:if test="$ui-lang != $page-lang">
      <xsl:attribute name="lang"><xsl:value-of select="$ui-lang"/></xsl:attribute>
    </xsl:if>
  </xsl:template>

  <!-- An entry's date: in the page's language when f:human-date exists, else as written. -->
  <xsl:template name="date">
    <xsl:param name="value"/>
    <xsl:param name="raw"/>
    <p class="date">
      <xsl:choose>
        <xsl:when test="function-available('f:human-date')">
          <xsl:value-of select="f:human-date(string($value), $page-lang)"/>
        </xsl:when>
        <xsl:otherwise>
          <xsl:attribute name="dir">ltr</xsl:attribute>
          <xsl:value-of select="$raw"/>
        </xsl:otherwise>
      </xsl:choose>
    </p>
  </xsl:template>

  <xsl:template match="/">
    <xsl:variable name="title" select="atom:feed/atom:title | rss/channel/title"/>
    <xsl:variable name="self" select="(atom:feed/atom:link[@rel='self'] | rss/channel/atom:link[@rel='self'])[1]/@href"/>
    <xsl:variable name="home" select="(atom:feed/atom:link[@rel='alternate'] | rss/channel/link)[1]"/>
    <xsl:variable name="home-url" select="$home/@href | $home/text()"/>
    <html lang="{$page-lang}" dir="{$dir}">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> (<xsl:value-of select="$t-web-feed"/>)</title>
        <link rel="stylesheet" href="{$static}feed.css"/>
      </head>
      <body>
        <main>
          <p class="notice">
            <xsl:call-template name="ui"/>
            <strong><xsl:value-of select="$t-intro"/></strong>
            <xsl:text> </xsl:text><xsl:value-of select="$t-subscribe"/>
            <xsl:text> </xsl:text><a href="https://aboutfeeds.com/"><xsl:value-of select="$t-about"/></a>
          </p>
          <label for="feed-url"><xsl:call-template name="ui"/><xsl:value-of select="$t-address"/></label>
          <input id="feed-url" type="text" readonly="readonly" value="{$self}" dir="ltr"/>
          <h1><xsl:value-of select="$title"/></h1>
          <p class="subtitle"><xsl:value-of select="atom:feed/atom:subtitle"/><xsl:value-of select="rss/channel/description" disable-output-escaping="yes"/></p>
          <p><xsl:call-template name="ui"/><a href="{$home-url}"><xsl:value-of select="$t-visit"/></a></p>
          <h2><xsl:call-template name="ui"/><xsl:value-of select="$t-recent"/></h2>
          <xsl:apply-templates select="atom:feed/atom:entry | rss/channel/item"/>
          <xsl:if test="not(atom:feed/atom:entry | rss/channel/item)">
            <p><xsl:call-template name="ui"/><xsl:value-of select="$t-empty"/></p>
          </xsl:if>
          <nav class="paging">
            <xsl:call-template name="ui"/>
            <xsl:for-each select="atom:feed/atom:link | rss/channel/atom:link">
              <xsl:if test="@rel='first' or @rel='previous' or @rel='next' or @rel='last' or @rel='prev-archive' or @rel='next-archive' or @rel='current'">
                <a href="{@href}" rel="{@rel}">
                  <xsl:choose>
                    <xsl:when test="@rel='first'"><xsl:value-of select="$t-first"/></xsl:when>
                    <xsl:when test="@rel='previous'"><xsl:value-of select="$t-previous"/></xsl:when>
                    <xsl:when test="@rel='next'"><xsl:value-of select="$t-next"/></xsl:when>
                    <xsl:when test="@rel='last'"><xsl:value-of select="$t-last"/></xsl:when>
                    <xsl:when test="@rel='prev-archive'"><xsl:value-of select="$t-prev-archive"/></xsl:when>
                    <xsl:when test="@rel='next-archive'"><xsl:value-of select="$t-next-archive"/></xsl:when>
                    <xsl:otherwise><xsl:value-of select="$t-current"/></xsl:otherwise>
                  </xsl:choose>
                </a>
                <xsl:text> </xsl:text>
              </xsl:if>
            </xsl:for-each>
          </nav>
        </main>
      </body>
    </html>
  </xsl:template>

  <!-- An entry in another language than the feed's says so (lang and dir). -->
  <xsl:template name="item-lang">
    <xsl:param name="lang"/>
    <xsl:if test="$lang and $lang != $page-lang">
      <xsl:attribute name="lang"><xsl:value-of select="$lang"/></xsl:attribute>
      <xsl:attribute name="dir"><xsl:call-template name="dir-of"><xsl:with-param name="lang" select="$lang"/></xsl:call-template></xsl:attribute>
    </xsl:if>
  </xsl:template>

  <xsl:template match="atom:entry">
    <article>
      <xsl:call-template name="item-lang"><xsl:with-param name="lang" select="string(@xml:lang)"/></xsl:call-template>
      <h3><a href="{atom:link[@rel='alternate'][1]/@href}"><xsl:value-of select="atom:title"/></a></h3>
      <xsl:call-template name="date">
        <xsl:with-param name="value" select="(atom:published | atom:updated)[1]"/>
        <xsl:with-param name="raw" select="substring((atom:published | atom:updated)[1], 1, 10)"/>
      </xsl:call-template>
      <p><xsl:value-of select="atom:summary"/></p>
    </article>
  </xsl:template>

  <xsl:template match="item">
    <article>
      <xsl:call-template name="item-lang"><xsl:with-param name="lang" select="string(dc:language)"/></xsl:call-template>
      <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
      <xsl:call-template name="date">
        <xsl:with-param name="value" select="pubDate"/>
        <xsl:with-param name="raw" select="pubDate"/>
      </xsl:call-template>
      <!-- An RSS description is HTML (feedsvc escapes plain text into it): copied as such. -->
      <p><xsl:value-of select="description" disable-output-escaping="yes"/></p>
    </article>
  </xsl:template>
</xsl:stylesheet>
